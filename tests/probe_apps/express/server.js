// Express app for the probe lab: `NODE_ENV=development|production node server.js PORT`, with
// DATABASE_URL pointing at a PostgreSQL and PROBE_DATA at a data directory.
//
// Its failing routes are the everyday ones: a query on a table a migration never created (the
// pure-JS `pg` driver against a real server) and a report file that is not there. Express's
// default error handler answers them with the error's stack trace unless NODE_ENV=production,
// where it answers a generic "Internal Server Error".
'use strict';

const express = require('express');
const fs = require('fs');
const path = require('path');
const { Client } = require('pg');

const app = express();
const data = process.env.PROBE_DATA || __dirname;

app.get('/', (req, res) => {
  res.send('<h1>Shop</h1><p>Welcome.</p>');
});

// The `orders` table does not exist: pg rejects with `relation "orders" does not exist`.
// Express 5 passes the rejection to its error handler.
app.get('/orders', async (req, res) => {
  const client = new Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    const result = await client.query('SELECT id, total FROM orders WHERE customer = $1', ['42']);
    res.json(result.rows);
  } finally {
    await client.end();
  }
});

// The nightly export never ran: ENOENT naming the server-side path.
app.get('/report', (req, res) => {
  res.type('text/csv').send(fs.readFileSync(path.join(data, 'reports', 'daily.csv'), 'utf8'));
});

const port = Number(process.argv[2]);
app.listen(port, '127.0.0.1', () => {
  console.log(`listening on 127.0.0.1:${port} (${app.get('env')})`);
});
