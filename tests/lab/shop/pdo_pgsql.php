<?php
// Reads from PostgreSQL through PDO; a PDOException is not caught, so PHP answers 500.
$db = require __DIR__ . '/config.php';
$dsn = "pgsql:host={$db['host']};port={$db['port']};dbname={$db['dbname']}";
$pdo = new PDO($dsn, $db['user'], $db['password']);
echo 'item 1: ', $pdo->query('SELECT name FROM items WHERE id = 1')->fetchColumn(), "\n";
