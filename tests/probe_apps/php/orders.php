<?php
// An uncaught PDOException (the `orders` table does not exist). With display_errors=On PHP
// prints the fatal error (SQL, stack, path) and the answer stays 200; with Off it is a bare 500.
$db = require __DIR__ . '/config.php';
$pdo = new PDO($db['dsn'], $db['user'], $db['password'], [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
$stmt = $pdo->prepare('SELECT id, total FROM orders WHERE customer = ?');
$stmt->execute(['42']);
echo json_encode($stmt->fetchAll(PDO::FETCH_ASSOC));
