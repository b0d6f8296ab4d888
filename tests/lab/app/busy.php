<?php
usleep(1200000);
echo 'done';
