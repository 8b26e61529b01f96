import { appCommand } from "./app-control.js";

export const rm = appCommand({
  name: "rm",
  summary: "remove an app from a device's store (stopping it first)",
  verb: "removed",
  async act(client, app) {
    // "tmp105" with no entry of that name removes every stored version of library tmp105
    // (keys tmp105@1, tmp105@2, ...): say which.
    const listed = app.includes("@") ? [] : await client.list();
    const versions = listed.some((a) => a.name === app) ? [] : listed.filter((a) => a.kind === "library" && a.name.startsWith(`${app}@`));
    await client.remove(app);
    if (versions.length) return versions.map((v) => `${v.name} (${v.version})`);
  },
});
