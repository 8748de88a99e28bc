// Google's Node.js client (@google-cloud/storage) against the emulator, for
// interop tests and benchmarks. STORAGE_EMULATOR_HOST must be set.
//
//   node tests/servers/gcs_interop.js upload BUCKET KEY FILE [resumable]
//   node tests/servers/gcs_interop.js download BUCKET KEY FILE
//
// upload sends FILE as one multipart request (the client's default for small
// files with resumable: false), or with "resumable" as a resumable upload in
// one stream; download reads the object through the client's validated
// stream (it checks crc32c/md5 from x-goog-hash). Exit status 0 on success.
"use strict";

const { Storage } = require("@google-cloud/storage");

async function main() {
  const [cmd, bucket, key, file, mode] = process.argv.slice(2);
  if (!process.env.STORAGE_EMULATOR_HOST || !file) {
    console.error("usage: gcs_interop.js upload|download BUCKET KEY FILE [resumable] (STORAGE_EMULATOR_HOST set)");
    process.exit(2);
  }
  const b = new Storage({ projectId: "kvault-test" }).bucket(bucket);
  if (cmd === "upload") {
    await b.upload(file, { destination: key, resumable: mode === "resumable", validation: "crc32c" });
  } else if (cmd === "download") {
    await b.file(key).download({ destination: file, validation: "crc32c" });
  } else {
    throw new Error(`unknown command ${cmd}`);
  }
}

main().catch((err) => {
  console.error(`gcs_interop.js: ${err.message}`);
  process.exit(1);
});
