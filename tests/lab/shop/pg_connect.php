<?php
// pg_connect() only warns and returns false; the app logs that and answers 500 itself.
$db = require __DIR__ . '/config.php';
$conn = pg_connect("host={$db['host']} port={$db['port']} dbname={$db['dbname']} user={$db['user']} password={$db['password']}");
if ($conn === false) {
    error_log('shop: database connection failed');
    http_response_code(500);
    exit("Error establishing a database connection\n");
}
echo 'item 1: ', pg_fetch_result(pg_query($conn, 'SELECT name FROM items WHERE id = 1'), 0, 0), "\n";
