<?php
$cfg = [];
trigger_error('cache miss for key home', E_USER_WARNING);
echo 'ok';
