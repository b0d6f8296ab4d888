<?php
$rows = [];
while (true) { $rows[] = str_repeat('x', 1024 * 1024); }
