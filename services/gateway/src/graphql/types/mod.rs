//! The schema's objects: the `/v1` resources as they are (fields in
//! camelCase), and the edges a staff tool follows between them.

pub mod assets;
pub mod billing;
pub mod crm;
pub mod scalars;
pub mod tickets;

use async_graphql::Enum;
use serde::{Deserialize, Serialize};

/// The lists each object is read from (the modules' `/v1` paths).
pub mod paths {
    pub const CUSTOMERS: &str = "/v1/customers";
    pub const CONTACTS: &str = "/v1/contacts";
    pub const SITES: &str = "/v1/sites";
    pub const CONTRACTS: &str = "/v1/contracts";
    pub const TICKETS: &str = "/v1/tickets";
    pub const COMMENTS: &str = "/v1/ticket-comments";
    pub const TIME_ENTRIES: &str = "/v1/time-entries";
    pub const ASSETS: &str = "/v1/assets";
    pub const LICENSES: &str = "/v1/licenses";
    pub const INVOICES: &str = "/v1/invoices";
}

/// A `/v1` enum as a GraphQL enum (values in SCREAMING_CASE, snake_case on
/// the wire).
macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($v:ident),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Enum, Debug, Copy, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($v),+ }
    };
}

wire_enum!(
    /// A ticket's state.
    TicketStatus { New, Open, InProgress, Waiting, Resolved, Closed }
);
wire_enum!(TicketPriority {
    Low,
    Medium,
    High,
    Critical
});
wire_enum!(TicketType {
    Incident,
    ServiceRequest,
    Problem,
    Change
});
wire_enum!(
    /// Who may read a comment: staff only, or the customer too.
    Visibility { Internal, Public }
);
wire_enum!(CustomerStatus { Active, Inactive });
wire_enum!(EinvoiceFormat {
    Xrechnung,
    Zugferd,
    Pdf
});
wire_enum!(VatTreatment {
    Standard,
    ReverseCharge,
    IntraEuSupply,
    Export,
    OutsideScope
});
wire_enum!(ContractStatus {
    Draft,
    Active,
    Suspended,
    Ended
});
wire_enum!(ContractType {
    ManagedServices,
    TimeAndMaterials,
    BlockHours,
    Project
});
wire_enum!(AssetStatus {
    InStock,
    Deployed,
    InRepair,
    Retired
});
wire_enum!(InvoiceStatus { Draft, Released });
wire_enum!(InvoiceType {
    Invoice,
    CreditNote
});
