<?php
$ch = curl_init('http://127.0.0.1/feed');
echo 'fetched';
