import { appCommand } from "./app-control.js";

export const rm = appCommand({
  name: "rm",
  summary: "remove an app from a device's store (stopping it first)",
  verb: "removed",
  async act(client, app) {
    await client.remove(app);
  },
});
