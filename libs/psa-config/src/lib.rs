//! Configuration: defaults from TOML, then an optional file, then `PSA_…`
//! environment variables (`PSA_DATABASE__URL` sets `database.url`). A key that
//! is unknown or has the wrong type fails at start, naming the key.

use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

/// Loads `T` from the layers described above. `T` should be
/// `#[serde(deny_unknown_fields)]` all the way down, so typos fail.
pub fn load<T: DeserializeOwned>(defaults: &str, file: Option<&Path>) -> Result<T, ConfigError> {
    // `PSA_CONFIG` names the file (read by the binaries); it is no key.
    load_from(
        defaults,
        file,
        Env::prefixed("PSA_").ignore(&["config"]).split("__"),
    )
}

fn load_from<T: DeserializeOwned>(
    defaults: &str,
    file: Option<&Path>,
    env: Env,
) -> Result<T, ConfigError> {
    let mut figment = Figment::from(Toml::string(defaults));
    if let Some(path) = file {
        if !path.exists() {
            return Err(ConfigError(format!(
                "file {} does not exist",
                path.display()
            )));
        }
        figment = figment.merge(Toml::file(path));
    }
    figment
        .merge(env)
        .extract()
        .map_err(|e| ConfigError(describe(e)))
}

fn describe(err: figment::Error) -> String {
    err.into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let source = e
                .metadata
                .as_ref()
                .map(|m| m.name.to_string())
                .unwrap_or_default();
            if key.is_empty() {
                format!("{} ({source})", e.kind)
            } else {
                format!("key `{key}`: {} ({source})", e.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
// figment::Jail closures must return figment's own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Db {
        url: String,
        max_connections: u32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Cfg {
        database: Db,
    }

    const DEFAULTS: &str = "[database]\nurl = \"postgres://localhost/psa\"\nmax_connections = 5\n";

    #[test]
    fn env_overrides_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("PSA_DATABASE__MAX_CONNECTIONS", "9");
            let cfg: Cfg = load(DEFAULTS, None).map_err(|e| e.to_string())?;
            assert_eq!(cfg.database.max_connections, 9);
            assert_eq!(cfg.database.url, "postgres://localhost/psa");
            Ok(())
        });
    }

    #[test]
    fn the_config_file_variable_is_not_a_key() {
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file("psa.toml", "[database]\nmax_connections = 7\n")?;
            jail.set_env("PSA_CONFIG", "psa.toml");
            let cfg: Cfg =
                load(DEFAULTS, Some(Path::new("psa.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(cfg.database.max_connections, 7);
            Ok(())
        });
    }

    #[test]
    fn unknown_key_names_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("PSA_DATABASE__MAX_CONECTIONS", "9");
            let err = load::<Cfg>(DEFAULTS, None).unwrap_err().to_string();
            assert!(err.contains("max_conections"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn wrong_type_names_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("PSA_DATABASE__MAX_CONNECTIONS", "many");
            let err = load::<Cfg>(DEFAULTS, None).unwrap_err().to_string();
            assert!(err.contains("database.max_connections"), "{err}");
            Ok(())
        });
    }
}
