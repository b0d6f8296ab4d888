//! Real nginx + PHP-FPM fault lab.
mod lab;

use lab::nginx::NginxOptions;
use lab::php_fpm::FpmOptions;
use lab::*;

#[test]
fn smoke_healthy() {
    if skip_unless_root("smoke_healthy") {
        return;
    }
    let lab = Lab::new();
    lab.write("www/index.html", "hi\n");
    lab.write("www/ok.php", "<?php echo 'ok';\n");
    let fpm = FpmOptions::new().start(&lab);
    let nginx = NginxOptions::new().fastcgi(&fpm).start(&lab);
    assert_eq!(nginx.get("/"), 200);
    assert_eq!(nginx.get("/ok.php"), 200);
    assert_eq!(nginx.get("/missing"), 404);
    nginx.wait_access_lines(3);
    println!("{}", std::fs::read_to_string(&nginx.access_log).unwrap());
}
