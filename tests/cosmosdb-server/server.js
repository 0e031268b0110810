"use strict";
// A stand-in Cosmos DB server for the tests and the local AppHost: @vercel/cosmosdb-server (a third-party Cosmos DB
// server in Node.js) over HTTPS with the caller's certificate, keep-alive on, bound to 127.0.0.1.
//
//   node server.js --port <port> --cert <cert.pem> --key <key.pem> [--host 127.0.0.1]
//
// It prints "Ready on <port>" once listening. Two compatibility patches, and nothing else:
//  1. Query plans. On Linux the .NET SDK cannot build a query plan itself (its native query parser is Windows-only), so
//     before every query it asks the gateway for one (header x-ms-cosmos-is-query-plan-request). The server does not
//     serve plans: it runs the query instead and the SDK fails to read the answer. Here every plan request gets the plan
//     of a pass-through query (no ORDER BY, TOP, aggregate or DISTINCT rewriting; the whole key range), so the SDK sends
//     the query unchanged and the server runs all of it. That is right for a query within one logical partition (the
//     only kind CqrsDapr's view store sends) and would be wrong for a cross-partition ORDER BY on real Cosmos DB.
//  2. Reading a document that does not exist. The server's read handler dereferences the missing document and answers
//     500 (TypeError); Cosmos DB answers 404. Here such a read answers 404 before the handler runs.
const fs = require("fs");
const crypto = require("crypto");

const lib = "@vercel/cosmosdb-server/lib";
const partitionHeader = require(`${lib}/utils/get-partition-from-header`);

// Patch 2, applied before the server's route table captures the handler.
const readDocument = require(`${lib}/handler/read-document`);
const readExisting = readDocument.default;
readDocument.default = (account, req, res, params) => {
  const collection = account.database(params.dbId).collection(params.collId);
  const header = partitionHeader.default(req);
  if (collection.read() && header !== undefined &&
      !collection.document(params.docId, partitionHeader.parsePartitionKey(header, params.docId)).read()) {
    res.statusCode = 404;
    return { code: "NotFound", message: "Entity with the specified id does not exist in the system." };
  }
  return readExisting(account, req, res, params);
};

const { createHttpsServer } = require(lib);

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0 || at + 1 >= process.argv.length) {
    if (fallback === undefined) {
      console.error(`missing --${name}`);
      process.exit(2);
    }
    return fallback;
  }
  return process.argv[at + 1];
}

const server = createHttpsServer({
  cert: fs.readFileSync(option("cert")),
  key: fs.readFileSync(option("key")),
  keepAlive: true,
});

// Patch 1: answer plan requests before the server's own request handler sees them.
const passThroughPlan = JSON.stringify({
  partitionedQueryExecutionInfoVersion: 2,
  queryInfo: {
    distinctType: "None",
    top: null,
    offset: null,
    limit: null,
    orderBy: [],
    orderByExpressions: [],
    groupByExpressions: [],
    groupByAliases: [],
    aggregates: [],
    groupByAliasToAggregateType: {},
    rewrittenQuery: "",
    hasSelectValue: false,
    hasNonStreamingOrderBy: false,
  },
  queryRanges: [{ min: "", max: "FF", isMinInclusive: true, isMaxInclusive: false }],
});
const [serve] = server.listeners("request");
server.removeAllListeners("request");
server.on("request", (req, res) => {
  if (String(req.headers["x-ms-cosmos-is-query-plan-request"]).toLowerCase() !== "true") {
    serve(req, res);
    return;
  }
  req.resume();
  res.writeHead(200, {
    "content-type": "application/json",
    "x-ms-activity-id": crypto.randomUUID(),
    "x-ms-request-charge": "0",
  });
  res.end(passThroughPlan);
});

server.listen(Number(option("port")), option("host", "127.0.0.1"), () => {
  console.log(`Ready on ${server.address().port}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
