//! What the assets module is about, without SQL or HTTP: assets and their
//! types, licenses, RMM inventory records, the watch's thresholds and the
//! end-of-life snapshot.

pub mod asset;
pub mod asset_type;
pub mod eol;
pub mod inventory;
pub mod license;
pub mod settings;
pub mod watch;

pub use asset::{Asset, AssetInput, AssetStatus};
pub use asset_type::{AssetType, AssetTypeInput, FieldDef, FieldKind};
pub use license::{Assignment, AssignmentInput, License, LicenseInput};
