<?php
$title = 'Home'
echo $title;
