<?php
$dir = __DIR__ . '/uploads';
$name = $dir . '/' . uniqid('up') . '.bin';
if (file_put_contents($name, file_get_contents('php://input')) === false) {
    throw new RuntimeException("Could not save upload to $dir");
}
echo 'saved';
