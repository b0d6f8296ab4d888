<?php
// The healthy page.
echo "<h1>Shop</h1><p>Welcome.</p>\n";
