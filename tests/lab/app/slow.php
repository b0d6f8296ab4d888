<?php
sleep(5);
echo 'late';
