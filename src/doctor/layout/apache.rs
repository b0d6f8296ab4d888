//! Apache's configuration as it will be read (filled in by the Apache layout work; this stub
//! has the interface only).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::doctor::overrides::AllowOverride;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Error(String);

#[derive(Clone, Debug, Default)]
pub struct ApacheLayout {
    pub conf: PathBuf,
    pub user: Option<String>,
    pub group: Option<String>,
    pub docroots: Vec<DocRoot>,
    pub logs: Vec<PathBuf>,
    pub modules: BTreeSet<String>,
    pub php_ini: BTreeMap<String, String>,
    pub fcgi_targets: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct DocRoot {
    pub path: PathBuf,
    pub server_name: Option<String>,
    pub source: String,
}

impl ApacheLayout {
    pub fn allow_override_for(&self, _dir: &Path) -> AllowOverride {
        AllowOverride::None
    }
}

pub fn discover(_conf: Option<&Path>) -> Result<Option<ApacheLayout>, Error> {
    Ok(None)
}
