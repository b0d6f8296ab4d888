<?php
// Reads from MariaDB through mysqli, which throws mysqli_sql_exception since PHP 8.1: a 500.
$db = require __DIR__ . '/config.php';
$conn = new mysqli($db['host'], $db['user'], $db['password'], $db['dbname'], $db['port'], $db['socket']);
echo 'item 1: ', $conn->query('SELECT name FROM items WHERE id = 1')->fetch_row()[0], "\n";
