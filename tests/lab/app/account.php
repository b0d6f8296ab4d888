<?php
require __DIR__ . '/lib/config.php';
echo $site_name;
