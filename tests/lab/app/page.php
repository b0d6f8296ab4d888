<?php
$file = dirname(__DIR__) . '/cache/page-' . uniqid() . '.html';
$html = str_repeat('<p>cached</p>', 20000);
if (file_put_contents($file, $html) === false) {
    throw new RuntimeException("Could not write cache file $file");
}
echo 'ok';
