// Runs Google's Cloud Storage emulator (the one inside npm firebase-tools,
// pinned by scripts/gcs-emulator.sh) without Java and without Firebase rules:
//
//   node tests/servers/gcs_emulator.js PORT [PROJECT]
//
// firebase's own `emulators:start` wants Java 21 and downloads a rules
// runtime; the StorageEmulator class itself needs neither once its rules
// runtime and rules manager are no-ops (the JSON API ignores rules anyway).
// These are internals of firebase-tools, hence the pinned version. Objects
// live in memory (and under $TMPDIR/firebase/storage/blobs). Stops on
// SIGTERM/SIGINT.
"use strict";

const { StorageEmulator } = require("firebase-tools/lib/emulator/storage");
const { EmulatorRegistry } = require("firebase-tools/lib/emulator/registry");

async function main() {
  const port = Number(process.argv[2]);
  const projectId = process.argv[3] || "kvault-test";
  if (!port) {
    console.error("usage: gcs_emulator.js PORT [PROJECT]");
    process.exit(2);
  }
  const emu = new StorageEmulator({ projectId, host: "127.0.0.1", port, auto_download: false });
  const noop = { start: async () => [], stop: async () => {}, getRuleset: () => undefined };
  emu._rulesRuntime = noop;
  emu._rulesManager = noop;
  emu.createRulesManager = () => noop;
  await EmulatorRegistry.start(emu);
  console.log(`gcs emulator (firebase-tools storage) listening on 127.0.0.1:${port}`);
  const stop = async () => {
    await EmulatorRegistry.stop(emu.getName());
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
