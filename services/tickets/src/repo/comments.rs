//! Comments in `tickets.comments`.

use psa_kernel::{Keyset, Page, SortValue};
use sqlx::{PgConnection, Postgres, QueryBuilder};
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

/// The select of a ticket's comments: what [`list`] pages through.
pub fn list_query(ticket_id: Uuid) -> QueryBuilder<Postgres> {
    // A comment never changes, so "changed since" (`updated_since`) means
    // "written since": the derived table names `created_at` so.
    let mut qb = QueryBuilder::<Postgres>::new(
        "select id, ticket_id, author, visibility, body, created_at
         from (select id, ticket_id, author, visibility, body, created_at, created_at as updated_at
               from tickets.comments) as comments
         where ticket_id = ",
    );
    qb.push_bind(ticket_id);
    qb
}

/// One page of a ticket's comments, oldest first.
pub async fn list(
    conn: &mut PgConnection,
    ticket_id: Uuid,
    keyset: &Keyset,
) -> Result<Page<Comment>, sqlx::Error> {
    keyset
        .fetch(conn, list_query(ticket_id), |c: &Comment, _| {
            (SortValue::Uuid(c.id), c.id)
        })
        .await
}
