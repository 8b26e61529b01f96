import { appCommand } from "./app-control.js";

export const stop = appCommand({
  name: "stop",
  summary: "stop a running app on a device",
  verb: "stopped",
  extra: { option: "no-autostart", help: "also stop starting it at boot" },
  async act(client, app, noAutostart) {
    await client.stop(app);
    if (noAutostart) await client.autostart(app, false);
  },
});
