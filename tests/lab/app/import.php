<?php
$data = file_get_contents('php://input');
echo strlen($data);
