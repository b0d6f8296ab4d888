// The lab's Express app (tests/lab/node.rs): `node server.js PORT`, with DATABASE_URL pointing
// at the lab's PostgreSQL. Express and pg come from tests/probe_apps/express/node_modules
// (NODE_PATH). Its stderr is the log the test reads, as a process manager would keep it.
'use strict';

const fs = require('fs');
const path = require('path');
const express = require('express');
const { Client } = require('pg');
const { cartTotal } = require('./cart');

const app = express();

app.get('/ok', (req, res) => {
  res.send('ok');
});

// An uncaught exception in the app's own code: Express's default error handler answers 500
// and prints the error's stack to stderr.
app.get('/checkout', (req, res) => {
  res.send(String(cartTotal([{ price: 5, quantity: 1 }, { quantity: 2 }])));
});

// A throw outside any request handler's call stack (in a timer): nothing catches it, Node
// prints it and exits, and the proxy sees the connection close.
app.get('/export', (req, res) => {
  setTimeout(() => {
    throw new RangeError(`export batch too large: ${req.query.n || 0}`);
  }, 10);
});

// Keeps everything it builds: with a small --max-old-space-size the heap runs out.
const cache = [];
app.get('/report', (req, res) => {
  for (;;) {
    cache.push(new Array(100000).fill(cache.length));
  }
});

// Writes an export where the deploy said (EXPORT_DIR): on a full disk, the write fails with
// ENOSPC and Express's default error handler answers 500.
app.get('/upload', (req, res) => {
  fs.writeFileSync(path.join(process.env.EXPORT_DIR, 'export.csv'), Buffer.alloc(1 << 20)); // lab: upload
  res.send('saved');
});

// A query with the credentials the deploy gave it.
app.get('/orders', async (req, res) => {
  const client = new Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    const result = await client.query('SELECT count(*) AS n FROM pg_tables');
    res.json(result.rows);
  } finally {
    await client.end();
  }
});

const port = Number(process.argv[2]);
app.listen(port, '127.0.0.1', () => {
  console.log(`listening on 127.0.0.1:${port}`);
});
