// The Azure SDK's side of the Azure tests and benchmark (@azure/storage-blob,
// installed by scripts/azurite.sh; NODE_PATH points at it). Credentials come
// from AZURE_STORAGE_CONNECTION_STRING, as for kvault.
//
//   node azure_interop.js mkcontainer CONTAINER [CONN_VAR...]
//        creates the container in the account of each named variable's
//        connection string (default: AZURE_STORAGE_CONNECTION_STRING)
//   node azure_interop.js sas CONTAINER PERMISSIONS EXPIRES_IN_SECONDS
//        prints a service SAS for the container (a negative time: expired)
//   node azure_interop.js upload CONTAINER BLOB FILE [BLOCK_SIZE [CONCURRENCY]]
//        uploadFile; with BLOCK_SIZE, files larger than it go up in blocks
//   node azure_interop.js download CONTAINER BLOB FILE [BLOCK_SIZE [CONCURRENCY]]
//   node azure_interop.js blocks CONTAINER BLOB
//        prints the number of committed blocks (0 for a single Put Blob)
'use strict';
const {
    BlobServiceClient,
    StorageSharedKeyCredential,
    ContainerSASPermissions,
    generateBlobSASQueryParameters,
} = require('@azure/storage-blob');

const conn = process.env.AZURE_STORAGE_CONNECTION_STRING;
if (!conn) {
    console.error('azure_interop.js: AZURE_STORAGE_CONNECTION_STRING is not set');
    process.exit(2);
}
const service = BlobServiceClient.fromConnectionString(conn);

function connField(name) {
    const m = conn.match(new RegExp('(?:^|;)' + name + '=([^;]*)'));
    return m ? m[1] : null;
}

const commands = {
    async mkcontainer(container, ...vars) {
        for (const v of vars.length ? vars : ['AZURE_STORAGE_CONNECTION_STRING']) {
            const svc = BlobServiceClient.fromConnectionString(process.env[v] || '');
            await svc.getContainerClient(container).createIfNotExists();
        }
    },
    async sas(container, permissions, seconds) {
        const cred = new StorageSharedKeyCredential(connField('AccountName'),
            connField('AccountKey'));
        const now = Date.now();
        const expiresOn = new Date(now + Number(seconds) * 1000);
        const startsOn = new Date(Math.min(now, expiresOn.getTime()) - 3600 * 1000);
        const q = generateBlobSASQueryParameters({
            containerName: container,
            permissions: ContainerSASPermissions.parse(permissions),
            startsOn,
            expiresOn,
        }, cred);
        console.log(q.toString());
    },
    async upload(container, blob, file, blockSize, concurrency) {
        const opts = { concurrency: Number(concurrency || 4) };
        if (blockSize) {
            opts.blockSize = Number(blockSize);
            opts.maxSingleShotSize = Number(blockSize);
        }
        await service.getContainerClient(container).getBlockBlobClient(blob).uploadFile(file, opts);
    },
    async download(container, blob, file, blockSize, concurrency) {
        const opts = { concurrency: Number(concurrency || 4) };
        if (blockSize)
            opts.blockSize = Number(blockSize);
        await service.getContainerClient(container).getBlobClient(blob)
            .downloadToFile(file, 0, undefined, opts);
    },
    async blocks(container, blob) {
        const list = await service.getContainerClient(container).getBlockBlobClient(blob)
            .getBlockList('committed');
        console.log((list.committedBlocks || []).length);
    },
};

const [cmd, ...args] = process.argv.slice(2);
if (!commands[cmd]) {
    console.error('usage: node azure_interop.js mkcontainer|sas|upload|download|blocks ...');
    process.exit(2);
}
commands[cmd](...args).catch((e) => {
    console.error(`azure_interop.js ${cmd}: ${e.message}`);
    process.exit(1);
});
