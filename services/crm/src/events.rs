//! What the CRM publishes: one typed event type per change, whose `data` is
//! the resource as GET returns it. Consumers (tickets' projection, billing)
//! decode with these same constants. Events are written to `crm.outbox` in
//! the same transaction as the change they describe; the relay publishes them.

use psa_events::catalog::{EventSpec, EventType, Lifecycle};

use crate::domain::{Contact, Contract, Customer, Site};

pub const CUSTOMER_CREATED: EventType<Customer> =
    EventType::new("customer.created", "A customer was created.");
pub const CUSTOMER_UPDATED: EventType<Customer> =
    EventType::new("customer.updated", "A customer was changed.");
pub const CUSTOMER_DELETED: EventType<Customer> = EventType::new(
    "customer.deleted",
    "A customer was deleted (its contacts and sites are deleted with it, each with its own event); data is the customer as it was.",
);
pub const CONTACT_CREATED: EventType<Contact> =
    EventType::new("contact.created", "A contact was created.");
pub const CONTACT_UPDATED: EventType<Contact> = EventType::new(
    "contact.updated",
    "A contact was changed (also when another contact became its customer's primary one).",
);
pub const CONTACT_DELETED: EventType<Contact> = EventType::new(
    "contact.deleted",
    "A contact was deleted; data is the contact as it was.",
);
pub const SITE_CREATED: EventType<Site> = EventType::new("site.created", "A site was created.");
pub const SITE_UPDATED: EventType<Site> = EventType::new("site.updated", "A site was changed.");
pub const SITE_DELETED: EventType<Site> = EventType::new(
    "site.deleted",
    "A site was deleted; data is the site as it was.",
);
pub const CONTRACT_CREATED: EventType<Contract> =
    EventType::new("contract.created", "A contract was created.");
pub const CONTRACT_UPDATED: EventType<Contract> = EventType::new(
    "contract.updated",
    "A contract was changed (status, dates, rates, SLA terms, business hours).",
);
pub const CONTRACT_DELETED: EventType<Contract> = EventType::new(
    "contract.deleted",
    "A contract was deleted; data is the contract as it was.",
);

/// The customer's lifecycle, as consumers read it.
pub const CUSTOMER: Lifecycle<Customer> = Lifecycle {
    created: CUSTOMER_CREATED,
    updated: CUSTOMER_UPDATED,
    deleted: CUSTOMER_DELETED,
};

/// The contact's lifecycle, as consumers read it.
pub const CONTACT: Lifecycle<Contact> = Lifecycle {
    created: CONTACT_CREATED,
    updated: CONTACT_UPDATED,
    deleted: CONTACT_DELETED,
};

/// The site's lifecycle, as consumers read it.
pub const SITE: Lifecycle<Site> = Lifecycle {
    created: SITE_CREATED,
    updated: SITE_UPDATED,
    deleted: SITE_DELETED,
};

/// The contract's lifecycle, as consumers read it.
pub const CONTRACT: Lifecycle<Contract> = Lifecycle {
    created: CONTRACT_CREATED,
    updated: CONTRACT_UPDATED,
    deleted: CONTRACT_DELETED,
};

/// Every event type the CRM publishes, for the registry.
pub const PUBLISHES: &[EventSpec] = &[
    CUSTOMER_CREATED.spec(),
    CUSTOMER_UPDATED.spec(),
    CUSTOMER_DELETED.spec(),
    CONTACT_CREATED.spec(),
    CONTACT_UPDATED.spec(),
    CONTACT_DELETED.spec(),
    SITE_CREATED.spec(),
    SITE_UPDATED.spec(),
    SITE_DELETED.spec(),
    CONTRACT_CREATED.spec(),
    CONTRACT_UPDATED.spec(),
    CONTRACT_DELETED.spec(),
];
