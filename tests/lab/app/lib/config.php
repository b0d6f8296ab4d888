<?php
$site_name = 'lab';
