<?php
// Like many CMSs: catches the connection error, logs it and answers 500 itself.
$db = require __DIR__ . '/config.php';
try {
    $conn = new mysqli($db['host'], $db['user'], $db['password'], $db['dbname'], $db['port'], $db['socket']);
} catch (mysqli_sql_exception $e) {
    error_log('shop: database connection failed: ' . $e->getMessage());
    http_response_code(500);
    exit("Error establishing a database connection\n");
}
echo 'item 1: ', $conn->query('SELECT name FROM items WHERE id = 1')->fetch_row()[0], "\n";
