#!/usr/bin/env python3
"""Regenerates directives.tsv from the Apache httpd 2.4 reference manual.

Source: the English module pages (mod/*.html) of Debian's `apache2-doc` package, which is the
httpd manual rendered from docs/manual/mod/*.xml of the same httpd release (each page's
directive tables carry the XML's <contextlist>, <override> and <modulesynopsis> data).

    apt-get install apache2-doc
    python3 src/doctor/htaccess/gen_directives.py > src/doctor/htaccess/directives.tsv

It also writes modules.txt beside itself: every module identifier the table speaks for (those
without a directive too), so that a checker can tell a module it knows nothing of.

The manual is wrong or silent for some directives (about 90 of 2.4's: `.htaccess` listed
without an Override class, Cache* and *Sed listed for .htaccess but refused there, mpm_common
directives that core defines, directives Debian's build lacks, undocumented ones). So
observed.tsv, beside this script, overrides it: what Debian's apache2 itself does with each
directive of each module in /usr/lib/apache2/modules in an .htaccess (apache2's own, and
those of the libapache2-mod-php8.2, -fcgid, -xsendfile and -security2 packages where
installed when it was made), probed by tests/lab_htaccess.rs
(`FIVEHUNDRED_OBSERVED_TSV=src/doctor/htaccess/observed.tsv cargo test --test lab_htaccess
directive_table`). For a module listed in its `# modules:` line, its rows replace the manual's.
"""
import glob
import html
import os
import re
import subprocess
import sys

DOC = "/usr/share/doc/apache2-doc/manual/en/mod"
SKIP = {"directives", "index", "quickreference", "directive-dict", "module-dict",
        "overrides", "mpm_common"}

# PHP's own Apache handler (sapi/apache2handler/apache_config.c, php_dir_cmds), for PHP
# versions observed.tsv does not cover (it has Debian's mod_php 8.2): php_value and
# php_flag are OR_OPTIONS (so .htaccess with AllowOverride Options or All), php_admin_value
# and php_admin_flag are ACCESS_CONF|RSRC_CONF (never .htaccess). The identifier is
# php_module for PHP 8, php7_module for PHP 7 and php5_module for PHP 5.
PHP = [("php_value", "yes", "Options"), ("php_flag", "yes", "Options"),
       ("php_admin_value", "no", "-"), ("php_admin_flag", "no", "-")]
PHP_MODULES = ["php_module", "php7_module", "php5_module"]

# Modules Debian ships without a manual page (test filters in modules/test/): their one
# directive each, server config only (RSRC_CONF in mod_case_filter.c / mod_case_filter_in.c);
# observed.tsv has them too.
EXTRA = [("CaseFilter", "case_filter_module", "no", "-"),
         ("CaseFilterIn", "case_filter_in_module", "no", "-")]


def cell(block, field):
    m = re.search(r'directive-dict\.html#%s">[^<]*</a></th><td>(.*?)</td></tr>' % field,
                  block, re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", m.group(1))).strip() if m else None


def read_observed():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "observed.tsv")
    rows, probed, source = set(), set(), ""
    if not os.path.exists(path):
        return rows, probed, source
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("# modules:"):
            probed = set(line[len("# modules:"):].split())
        elif line.startswith("# Observed on "):
            source = line[len("# Observed on "):].split(" by ")[0]
        elif line and not line.startswith("#"):
            f = line.split("\t")
            rows.add(tuple((f + ["-", ""])[:6]))
    return rows, probed, source


def main():
    ident = {"core": "core_module"}
    pages = {}
    for path in sorted(glob.glob(os.path.join(DOC, "*.html"))):
        name = os.path.basename(path)[:-5]
        if name in SKIP:
            text = open(path, encoding="utf-8").read() if name == "mpm_common" else None
        else:
            text = open(path, encoding="utf-8").read()
            m = re.search(r'ModuleIdentifier">Module&nbsp;Identifier:</a></th><td>([^<]+)</td>',
                          text)
            if m:
                ident[name] = m.group(1).strip()
        if text is not None:
            pages[name] = text
    rows = set()
    for name, text in pages.items():
        for block in text.split('<div class="directive-section">')[1:]:
            m = re.search(r'<span id="[^"]*">(.*?)</span> Directive', block)
            directive = html.unescape(m.group(1)).strip()
            if directive.startswith("<") and directive.endswith(">"):
                directive = directive[:-1]
            context = cell(block, "Context") or ""
            override = cell(block, "Override") or "-"
            override = override.replace(" ", "")
            modules = [m.strip() for m in (cell(block, "Module") or name).split(",")]
            htaccess = "yes" if ".htaccess" in [c.strip() for c in context.split(",")] else "no"
            for mod in modules:
                if mod not in ident:
                    print("no identifier for module %s (%s)" % (mod, directive), file=sys.stderr)
                    continue
                rows.add((directive, ident[mod], htaccess, override))
    observed, probed, observed_from = read_observed()
    rows = {r + ("-", "") for r in rows if r[1] not in probed} | observed
    # The manual puts mpm_common directives under each MPM; those core defines are core's.
    always = {r[0].lower() for r in observed if r[1] in ("core_module", "http_module")}
    rows = {r for r in rows if r[1] in ("core_module", "http_module") or r[0].lower() not in always}
    for d, h, o in PHP:
        for mod in PHP_MODULES:
            if mod not in probed:
                rows.add((d, mod, h, o, "-", ""))
    rows.update(r + ("-", "") for r in EXTRA if r[1] not in probed)
    version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "apache2-doc"],
                             capture_output=True, text=True).stdout.strip()
    print("# Apache httpd 2.4 directives: name, module identifier (as `apachectl -M` prints it),")
    print("# whether .htaccess is among its contexts, its Override class(es) (comma-separated;")
    print("# All: any AllowOverride but None; -: none).")
    print("# Generated by gen_directives.py from the httpd manual's module pages (the rendering of")
    print("# apache/httpd docs/manual/mod/*.xml) in Debian's apache2-doc %s, plus mod_php's" % version)
    print("# php_value/php_flag/php_admin_value/php_admin_flag from PHP's apache2handler source.")
    print("# Overridden, for the %d modules probed (Debian's apache2, and its libapache2-mod-php8.2," % len(probed))
    print("# -fcgid, -xsendfile and -security2 packages), by observed.tsv: what %s" % observed_from)
    print("# itself does with each of their directives in an .htaccess (see gen_directives.py).")
    print("# Directives documented for several modules (mpm_common, mod_cgi/mod_cgid) get a row each.")
    print("# args: the number of arguments Apache checks, from what it says when given none (and")
    print("# for too many): flag (On or Off), 1, 2, 3, 1-2, 2-3, 1-3, 1,3, 1+, 2+; - when the")
    print("# directive checks its own (or it is unknown); usage: that message.")
    print("#name\tmodule\thtaccess\toverride\targs\tusage")
    for r in sorted(rows, key=lambda r: (r[0].lower(), r[1])):
        print("\t".join(r))
    known = set(ident.values()) | probed | set(PHP_MODULES) | {r[1] for r in rows}
    known |= {"http_module"}
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "modules.txt"), "w", encoding="utf-8") as f:
        f.write("# Module identifiers directives.tsv covers (generated by gen_directives.py).\n")
        for m in sorted(known):
            f.write(m + "\n")


main()
