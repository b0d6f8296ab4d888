<?php
posix_kill(getmypid(), 9);
echo 'unreachable';
