//! One file per resource: thin handlers with their OpenAPI description.

pub mod asset_types;
pub mod assets;
pub mod eol;
pub mod inventory;
pub mod licenses;
pub mod settings;
