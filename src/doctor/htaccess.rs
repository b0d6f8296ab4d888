//! Checks each `.htaccess` line the way Apache will parse it (filled in by the htaccess work).
