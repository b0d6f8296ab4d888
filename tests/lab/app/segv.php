<?php
posix_kill(getmypid(), 11);
echo 'unreachable';
