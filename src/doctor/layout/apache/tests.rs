use super::*;

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn map(items: &[(&str, &str)]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Writes `files` (relative path → content) under a new tempdir.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let p = dir.path().join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }
    dir
}

fn parse_str(conf: &str, modules: &[&str]) -> ApacheLayout {
    let dir = tree(&[("httpd.conf", conf)]);
    parse(
        &dir.path().join("httpd.conf"),
        &BTreeMap::new(),
        &set(modules),
    )
    .unwrap()
}

#[test]
fn ifmodule_both_forms_negation_and_nesting() {
    let l = parse_str(
        "<IfModule mod_rewrite.c>\n  User a\n</IfModule>\n\
         <IfModule !rewrite_module>\n  User b\n</IfModule>\n\
         <IfModule mod_ssl.c>\n  <Directory /x>\n    AllowOverride All\n  </Directory>\n  Group ssl\n</IfModule>\n\
         <IfModule !mod_ssl.c>\n  Group nossl\n  <IfModule prefork.c>\n    php_value memory_limit 64M\n  </IfModule>\n</IfModule>\n\
         <ifmodule MPM_PREFORK_MODULE>\nphp_flag display_errors On\n</ifmodule>\n",
        &["rewrite_module", "mpm_prefork_module"],
    );
    assert_eq!(l.user.as_deref(), Some("a"));
    assert_eq!(l.group.as_deref(), Some("nossl"));
    assert!(l.directories.is_empty());
    assert_eq!(
        l.php_ini,
        map(&[("memory_limit", "64M"), ("display_errors", "On")])
    );
}

#[test]
fn loadmodule_counts_for_later_ifmodule() {
    let l = parse_str(
        "LoadModule php_module /usr/lib/apache2/modules/libphp8.2.so\n\
         <IfModule mod_php.c>\n  php_admin_value error_log /tmp/php.log\n</IfModule>\n",
        &[],
    );
    assert!(l.modules.contains("php_module"));
    assert!(l.has_mod_php());
    assert_eq!(l.php_ini["error_log"], "/tmp/php.log");
    assert!(!parse_str("", &["proxy_fcgi_module"]).has_mod_php());
}

#[test]
fn includes_globs_directories_and_order() {
    let dir = tree(&[
        (
            "main.conf",
            "Include conf.d/*.conf\nIncludeOptional missing/*.conf\nIncludeOptional nofile.conf\n\
             Include \"sites\"\nInclude */deep/x?.conf\n",
        ),
        ("conf.d/b.conf", "DocumentRoot /b\n"),
        ("conf.d/a.conf", "DocumentRoot /a\n"),
        ("conf.d/.hidden.conf", "DocumentRoot /hidden\n"),
        ("conf.d/c.txt", "DocumentRoot /txt\n"),
        ("sites/2", "DocumentRoot /s2\n"),
        ("sites/1", "DocumentRoot /s1\n"),
        ("sub/deep/x1.conf", "DocumentRoot /deep\n"),
    ]);
    let l = parse(
        &dir.path().join("main.conf"),
        &BTreeMap::new(),
        &BTreeSet::new(),
    )
    .unwrap();
    let roots: Vec<_> = l.docroots.iter().map(|d| d.path.clone()).collect();
    let want: Vec<PathBuf> = ["/a", "/b", "/s1", "/s2", "/deep"]
        .iter()
        .map(PathBuf::from)
        .collect();
    assert_eq!(roots, want);
    let a = dir.path().join("conf.d/a.conf");
    assert_eq!(l.docroots[0].source, format!("{}:1", a.display()));
}

#[test]
fn include_errors_name_the_file() {
    let dir = tree(&[
        ("glob.conf", "Include nothere/*.conf\n"),
        ("plain.conf", "ServerName x\nInclude gone.conf\n"),
    ]);
    let none = BTreeMap::new();
    let e = parse(&dir.path().join("glob.conf"), &none, &BTreeSet::new()).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("glob.conf:1") && msg.contains("nothere/*.conf"),
        "{msg}"
    );
    let e = parse(&dir.path().join("plain.conf"), &none, &BTreeSet::new()).unwrap_err();
    assert!(e.to_string().contains("gone.conf"), "{e}");
    let e = parse(&dir.path().join("absent.conf"), &none, &BTreeSet::new()).unwrap_err();
    assert!(e.to_string().contains("absent.conf"), "{e}");
}

#[test]
fn include_loop_is_an_error_not_a_hang() {
    let dir = tree(&[("a.conf", "Include a.conf\n")]);
    let e = parse(
        &dir.path().join("a.conf"),
        &BTreeMap::new(),
        &BTreeSet::new(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::IncludeDepth { .. }), "{e}");
}

#[test]
fn serverroot_line_wins_for_relative_paths() {
    let dir = tree(&[
        (
            "etc/main.conf",
            "ServerRoot \"ROOT/srv\"\nInclude conf/extra.conf\nErrorLog logs/err.log\nDocumentRoot htdocs/\n",
        ),
        (
            "srv/conf/extra.conf",
            "CustomLog \"logs/access log\" combined\n",
        ),
    ]);
    let conf = dir.path().join("etc/main.conf");
    let text = fs::read_to_string(&conf).unwrap();
    fs::write(&conf, text.replace("ROOT", &dir.path().to_string_lossy())).unwrap();
    let l = parse(&conf, &BTreeMap::new(), &BTreeSet::new()).unwrap();
    let srv = dir.path().join("srv");
    assert_eq!(
        l.logs,
        vec![srv.join("logs/access log"), srv.join("logs/err.log")]
    );
    assert_eq!(l.docroots[0].path, srv.join("htdocs"));
}

#[test]
fn vhosts_with_their_own_names_docroots_and_logs() {
    let l = parse_str(
        "ServerName main.example\nDocumentRoot \"/var/www/main\"\n\
         ErrorLog \"|/usr/bin/rotatelogs /var/log/x 86400\"\n\
         <VirtualHost *:80>\n  ServerName a.example\n  DocumentRoot /var/www/a/\n  ErrorLog syslog:local1\n  \
         CustomLog /var/log/apache2/a.log combined\n</VirtualHost>\n\
         <VirtualHost *:443>\n  DocumentRoot /var/www/b\n  CustomLog \"||/usr/bin/logger\" combined\n  \
         ErrorLog /var/log/apache2/b.err\n  User nobody\n  php_value x y\n</VirtualHost>\n",
        &[],
    );
    let got: Vec<_> = l
        .docroots
        .iter()
        .map(|d| (d.path.to_str().unwrap(), d.server_name.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("/var/www/main", Some("main.example")),
            ("/var/www/a", Some("a.example")),
            ("/var/www/b", Some("main.example")),
        ]
    );
    assert!(
        l.docroots[1].source.ends_with("httpd.conf:6"),
        "{}",
        l.docroots[1].source
    );
    // The main server has a (piped) ErrorLog, so no compiled default is added.
    assert_eq!(
        l.logs,
        vec![
            PathBuf::from("/var/log/apache2/a.log"),
            PathBuf::from("/var/log/apache2/b.err")
        ]
    );
    assert_eq!(l.user, None);
    assert!(l.php_ini.is_empty());
}

#[test]
fn default_error_log_when_none_set() {
    let dir = tree(&[("httpd.conf", "ServerName x\n")]);
    let l = parse(
        &dir.path().join("httpd.conf"),
        &BTreeMap::new(),
        &BTreeSet::new(),
    )
    .unwrap();
    assert_eq!(l.logs, vec![dir.path().join("logs/error_log")]);
}

#[test]
fn envvars_and_defines_substitute() {
    let dir = tree(&[(
        "envvars",
        "unset HOME\n\
         if [ \"${APACHE_CONFDIR##/etc/apache2-}\" != \"${APACHE_CONFDIR}\" ] ; then\n\
         \tSUFFIX=\"-${APACHE_CONFDIR##/etc/apache2-}\"\nelse\n\tSUFFIX=\nfi\n\
         export APACHE_RUN_USER=www-data\nexport APACHE_RUN_GROUP='www data'\n\
         export APACHE_LOG_DIR=/var/log/apache2$SUFFIX\n\
         export APACHE_PID_FILE=\"${APACHE_LOG_DIR}/x.pid\" # comment\n\
         #export APACHE_LYNX='www-browser -dump'\nexport LANG=C\nexport LANG\n",
    )]);
    let vars = read_envvars(&dir.path().join("envvars"));
    assert_eq!(
        vars,
        map(&[
            ("APACHE_RUN_USER", "www-data"),
            ("APACHE_RUN_GROUP", "www data"),
            ("APACHE_LOG_DIR", "/var/log/apache2"),
            ("APACHE_PID_FILE", "/var/log/apache2/x.pid"),
            ("LANG", "C"),
        ])
    );
    assert!(read_envvars(&dir.path().join("missing")).is_empty());

    let conf = "User ${APACHE_RUN_USER}\nGroup \"${APACHE_RUN_GROUP}\"\n\
                Define SITE /srv/site\nDefine WITH_SITE\n\
                <IfDefine WITH_SITE>\n  DocumentRoot ${SITE}/public\n</IfDefine>\n\
                <IfDefine !WITH_SITE>\n  DocumentRoot /nope\n</IfDefine>\n\
                <IfDefine OTHER>\n  DocumentRoot /other\n</IfDefine>\n\
                ErrorLog ${APACHE_LOG_DIR}/error.log\nCustomLog ${UNDEFINED}/a.log combined\n";
    let d2 = tree(&[("apache2.conf", conf)]);
    let l = parse(&d2.path().join("apache2.conf"), &vars, &BTreeSet::new()).unwrap();
    assert_eq!(l.user.as_deref(), Some("www-data"));
    assert_eq!(l.group.as_deref(), Some("www data"));
    assert_eq!(l.docroots.len(), 1);
    assert_eq!(l.docroots[0].path, PathBuf::from("/srv/site/public"));
    assert_eq!(l.logs[0], PathBuf::from("/var/log/apache2/error.log"));
    assert_eq!(l.logs[1], d2.path().join("${UNDEFINED}/a.log"));
}

#[test]
fn directory_longest_prefix_then_regex() {
    let l = parse_str(
        "<Directory />\n  AllowOverride None\n</Directory>\n\
         <Directory \"/var/www\">\n  AllowOverride All\n</Directory>\n\
         <Directory /var/www/site/private/>\n  AllowOverride AuthConfig\n  Require all denied\n</Directory>\n\
         <Directory /var/www/site>\n  Require all granted\n</Directory>\n\
         <Directory /var/www/*/cache>\n  allowoverride none\n</Directory>\n\
         <Directory \"/srv/my site\">\n  <IfModule mod_rewrite.c>\n    AllowOverride FileInfo\n  </IfModule>\n</Directory>\n\
         <DirectoryMatch \"^/var/www/[0-9]+/\">\n  AllowOverride Limit\n</DirectoryMatch>\n\
         <Directory ~ \"^/var/www/z\">\n  AllowOverride Indexes\n</Directory>\n\
         <VirtualHost *:80>\n  <Directory /var/www/site/up>\n    AllowOverride None\n  </Directory>\n</VirtualHost>\n",
        &["rewrite_module"],
    );
    assert_eq!(l.directories.len(), 8, "{:?}", l.directories);
    assert!(l.directories.iter().filter(|d| d.regex).count() == 2);
    let at = |p: &str| l.allow_override_for(Path::new(p));
    assert_eq!(at("/"), AllowOverride::None);
    assert_eq!(at("/etc"), AllowOverride::None);
    assert_eq!(at("/var/www"), AllowOverride::All);
    assert_eq!(at("/var/www/"), AllowOverride::All);
    assert_eq!(at("/var/www/site"), AllowOverride::All);
    assert_eq!(at("/var/wwwx"), AllowOverride::None);
    assert_eq!(
        at("/var/www/site/private/deeper"),
        AllowOverride::parse("AuthConfig")
    );
    assert_eq!(at("/var/www/site/cache"), AllowOverride::None);
    assert_eq!(at("/var/www/site/up"), AllowOverride::None);
    assert_eq!(at("/srv/my site/x"), AllowOverride::parse("FileInfo"));
    // Regex sections are applied after the .htaccess files: their AllowOverride is no use.
    assert_eq!(at("/var/www/42"), AllowOverride::All);
    assert_eq!(at("/var/www/zed/a"), AllowOverride::All);
    // They are still kept, marked as regexes.
    assert!(l.directories.iter().any(|r| r.regex));
    assert_eq!(
        parse_str("", &[]).allow_override_for(Path::new("/x")),
        AllowOverride::None
    );
}

#[test]
fn fcgi_targets_from_handlers_and_proxies() {
    let l = parse_str(
        "<FilesMatch \\.php$>\n  SetHandler \"proxy:unix:/run/php/php8.2-fpm.sock|fcgi://localhost\"\n</FilesMatch>\n\
         <VirtualHost *:80>\n  ProxyPassMatch ^/(.*\\.php(/.*)?)$ fcgi://127.0.0.1:9000/var/www/$1\n</VirtualHost>\n\
         AddHandler proxy:fcgi://php-host .php\n\
         ProxyPass /app/ \"unix:/run/app.sock|fcgi://localhost/\"\n\
         ProxyPass /web/ http://127.0.0.1:8080/\n\
         ProxyPass /web2/ unix:/run/web.sock|http://localhost/\n\
         SetHandler application/x-httpd-php\n\
         <Proxy \"fcgi://[::1]:9001\">\n</Proxy>\n\
         SetHandler \"proxy:unix:/run/php/php8.2-fpm.sock|fcgi://localhost\"\n",
        &[],
    );
    assert_eq!(
        l.fcgi_targets,
        vec![
            "/run/php/php8.2-fpm.sock",
            "127.0.0.1:9000",
            "php-host:8000",
            "/run/app.sock",
            "[::1]:9001",
        ]
    );
}

#[test]
fn continuations_comments_and_case() {
    let l = parse_str(
        "# User commented\n  #DocumentRoot /no\n# a comment continued \\\nDocumentRoot /also-no\n\
         documentroot \\\n   /var/www/cont\nSERVERNAME \\\nhost.example\r\nuser  \"www-data\"  \n",
        &[],
    );
    assert_eq!(l.docroots.len(), 1);
    assert_eq!(l.docroots[0].path, PathBuf::from("/var/www/cont"));
    assert!(l.docroots[0].source.ends_with(":5"));
    assert_eq!(l.docroots[0].server_name.as_deref(), Some("host.example"));
    assert_eq!(l.user.as_deref(), Some("www-data"));
}

#[test]
fn ifversion_iffile_ifdirective() {
    let l = parse_str(
        "<IfVersion >= 2.4>\n  User new\n</IfVersion>\n<IfVersion < 2.4>\n  User old\n</IfVersion>\n\
         <IfVersion !~ ^2\\.2>\n  Group g\n</IfVersion>\n\
         <IfFile /definitely/not/here>\n  DocumentRoot /a\n</IfFile>\n\
         <IfFile !/definitely/not/here>\n  DocumentRoot /b\n</IfFile>\n\
         <IfDirective !Foo>\n  DocumentRoot /c\n</IfDirective>\n",
        &[],
    );
    assert_eq!(l.user.as_deref(), Some("new"));
    assert_eq!(l.group.as_deref(), Some("g"));
    let roots: Vec<_> = l.docroots.iter().map(|d| d.path.clone()).collect();
    assert_eq!(roots, vec![PathBuf::from("/b")]);
}

#[test]
fn odd_bytes_and_broken_sections_do_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("odd.conf");
    let mut bytes = b"User \xff\xfe\x00ok\n<\n</\n</Directory>\n<Directory \"/unterminated\n\
        AllowOverride All\n<IfModule\n</IfModule>\nDocumentRoot \"/q\\\"x\"\n\
        ServerName \xc3\n${\n${}\nDefine\nInclude\n<Directory ~>\nAllowOverride\n</Directory>\n\
        <IfVersion >= x.y>\n</IfVersion>\n<Directory [abc>\nAllowOverride All\n</Directory>\n\\"
        .to_vec();
    bytes.extend((0u8..=255).collect::<Vec<_>>());
    fs::write(&conf, bytes).unwrap();
    let l = parse(&conf, &BTreeMap::new(), &BTreeSet::new()).unwrap();
    for d in ["/", "/unterminated", "[abc", "/[abc/x", "/\u{fffd}"] {
        l.allow_override_for(Path::new(d));
    }
}

#[test]
fn parses_apache2ctl_m_output() {
    let out = "AH00558: apache2: Could not reliably determine the server's fully qualified domain name\n\
               Loaded Modules:\n core_module (static)\n so_module (static)\n mpm_prefork_module (shared)\n \
               php_module (shared)\n";
    assert_eq!(
        parse_modules(out),
        set(&[
            "core_module",
            "so_module",
            "mpm_prefork_module",
            "php_module"
        ])
    );
    assert!(parse_modules("").is_empty());
}

#[test]
fn fnmatch_rules() {
    assert!(fnmatch("*.conf", "a.conf", true));
    assert!(!fnmatch("*.conf", ".a.conf", true));
    assert!(fnmatch("*.conf", ".a.conf", false));
    assert!(fnmatch("x?[0-9]", "xa7", true));
    assert!(!fnmatch("x?[!0-9]", "xa7", true));
    assert!(fnmatch("a*b*c", "aXXbYYbc", true));
    assert!(!fnmatch("a*b", "ab.", true));
    assert!(fnmatch("\\*", "*", true));
    assert!(fnmatch("[", "[", true));
    assert!(fnmatch("", "", true));
}

#[test]
fn module_ids() {
    assert_eq!(module_id("mod_rewrite.c"), "rewrite_module");
    assert_eq!(module_id("prefork.c"), "mpm_prefork_module");
    assert_eq!(module_id("mod_php7.c"), "php7_module");
    assert_eq!(module_id("ssl_module"), "ssl_module");
}

#[test]
fn compiled_defines_of_dash_v() {
    let v = "Server version: Apache/2.4.62 (Debian)\nServer compiled with....\n \
             -D APR_HAS_SENDFILE\n -D HTTPD_ROOT=\"/etc/apache2\"\n \
             -D SERVER_CONFIG_FILE=\"apache2.conf\"\n";
    let d = compiled_defines(v);
    assert_eq!(d["HTTPD_ROOT"], "/etc/apache2");
    assert_eq!(d["SERVER_CONFIG_FILE"], "apache2.conf");
    assert!(!d.contains_key("APR_HAS_SENDFILE"));
}

#[test]
fn unclosed_vhost_still_counts() {
    let l = parse_str(
        "<VirtualHost *:80>\n  ServerName v\n  DocumentRoot /v\n",
        &[],
    );
    assert_eq!(l.docroots.len(), 1);
    assert_eq!(l.docroots[0].server_name.as_deref(), Some("v"));
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// Fragments of Apache configs, shuffled into lines.
    const SOUP: &[&str] = &[
        "<Directory ",
        "</Directory>",
        "<IfModule !",
        "mod_x.c>",
        "</IfModule>",
        "<VirtualHost",
        "</VirtualHost>",
        "AllowOverride All",
        "DocumentRoot ",
        "\"",
        "'",
        "\\",
        "\n",
        " ",
        "${",
        "}",
        "Define X",
        "<IfDefine X>",
        "</IfDefine>",
        "ErrorLog ",
        "|",
        "syslog",
        "proxy:unix:",
        "|fcgi://",
        "[",
        "*",
        "~",
        "php_value a",
        "#",
        "\r",
        "é",
        "\u{0}",
        ">",
        "<",
        "/",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn any_config_parses_without_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..400),
            soup in proptest::collection::vec(proptest::sample::select(SOUP), 0..80),
            dir in "[/a-z*?\\[\\]~]{0,12}",
        ) {
            let tmp = tempfile::tempdir().unwrap();
            for (name, content) in [("bytes.conf", bytes), ("soup.conf", soup.concat().into_bytes())] {
                let conf = tmp.path().join(name);
                fs::write(&conf, content).unwrap();
                if let Ok(l) = parse(&conf, &BTreeMap::new(), &BTreeSet::new()) {
                    l.allow_override_for(Path::new(&dir));
                }
            }
        }
    }
}
