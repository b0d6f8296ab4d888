<?php
// A caught failure that sets 500: the report file is missing. PHP's warning names the path
// when display_errors=On; the page itself is generic either way.
$csv = file_get_contents(__DIR__ . '/reports/daily.csv');
if ($csv === false) {
    http_response_code(500);
    echo "<h1>Report unavailable</h1><p>Please try again later.</p>\n";
    exit;
}
header('Content-Type: text/csv');
echo $csv;
