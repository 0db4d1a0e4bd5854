//! Comments in `tickets.comments`.

use psa_kernel::{IdList, Keyset, Page, PageParams, SortValue};
use serde::Deserialize;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::domain::comment::{Comment, NewComment, Visibility};

pub async fn insert(
    conn: &mut PgConnection,
    ticket_id: Uuid,
    author: &str,
    input: &NewComment,
) -> Result<Comment, sqlx::Error> {
    sqlx::query_as!(
        Comment,
        r#"insert into tickets.comments (id, ticket_id, author, visibility, body)
           values ($1, $2, $3, $4, $5)
           returning id, ticket_id, author, visibility as "visibility: Visibility", body, created_at"#,
        Uuid::now_v7(),
        ticket_id,
        author,
        input.visibility as _,
        input.body.trim(),
    )
    .fetch_one(conn)
    .await
}

/// What the comment list (`/v1/ticket-comments`) filters by.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommentFilters {
    /// The tickets whose comments are listed (400 `invalid_query` without).
    #[param(required = true)]
    pub ticket_id: Option<IdList>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageParams,
}

// Tickets' comments, for many tickets at once.
psa_http::per_filters!(CommentFilters: ticket_id);

/// The select of the tickets' comments: what [`list`] pages through.
pub fn list_query(tickets: &IdList) -> QueryBuilder<Postgres> {
    // A comment never changes, so "changed since" (`updated_since`) means
    // "written since": the derived table names `created_at` so.
    let mut qb = QueryBuilder::<Postgres>::new(
        "select id, ticket_id, author, visibility, body, created_at
         from (select id, ticket_id, author, visibility, body, created_at, created_at as updated_at
               from tickets.comments) as comments
         where true",
    );
    tickets.push_filter(&mut qb, "ticket_id");
    qb
}

/// One page of the tickets' comments, oldest first.
pub async fn list(
    conn: &mut PgConnection,
    tickets: &IdList,
    keyset: &Keyset,
) -> Result<Page<Comment>, sqlx::Error> {
    keyset
        .fetch(conn, list_query(tickets), |c: &Comment, _| {
            (SortValue::Uuid(c.id), c.id)
        })
        .await
}
