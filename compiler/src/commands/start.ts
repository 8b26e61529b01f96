import { appCommand } from "./app-control.js";

export const start = appCommand({
  name: "start",
  summary: "start an installed app on a device",
  verb: "started",
  extra: { option: "autostart", help: "also start it at every boot" },
  async act(client, app, autostart) {
    await client.start(app);
    if (autostart) await client.autostart(app, true);
  },
});
