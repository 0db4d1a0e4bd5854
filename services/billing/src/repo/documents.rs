//! A released document's files: written once in the releasing
//! transaction, read by every download.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::documents::{DocumentFile, FileKind, Rendered};

/// Keeps a file; one that is kept already stays as it is.
pub async fn insert(
    conn: &mut PgConnection,
    invoice: Uuid,
    f: &Rendered,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into billing.documents (invoice_id, kind, profile, media_type, file_name, content, sha256, size)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict (tenant_id, invoice_id, kind) do nothing",
        invoice,
        f.kind as _,
        f.profile,
        f.kind.media_type(),
        f.file_name,
        f.content,
        f.sha256,
        i32::try_from(f.content.len()).unwrap_or(i32::MAX),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// What files the document has (none while it is a draft).
pub async fn of(conn: &mut PgConnection, invoice: Uuid) -> Result<Vec<DocumentFile>, sqlx::Error> {
    sqlx::query_as!(
        DocumentFile,
        r#"select kind as "kind: FileKind", profile, media_type, file_name, sha256, size
           from billing.documents where invoice_id = $1 order by kind"#,
        invoice
    )
    .fetch_all(conn)
    .await
}

/// A file with its bytes.
pub async fn content(
    conn: &mut PgConnection,
    invoice: Uuid,
    kind: FileKind,
) -> Result<Option<(DocumentFile, Vec<u8>)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select kind as "kind: FileKind", profile, media_type, file_name, sha256, size, content
           from billing.documents where invoice_id = $1 and kind = $2"#,
        invoice,
        kind as _,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| {
        (
            DocumentFile {
                kind: r.kind,
                profile: r.profile,
                media_type: r.media_type,
                file_name: r.file_name,
                sha256: r.sha256,
                size: r.size,
            },
            r.content,
        )
    }))
}

/// Marks a released document as waiting for its files.
pub async fn pending(conn: &mut PgConnection, invoice: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into billing.pending_renders (invoice_id) values ($1)",
        invoice
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes the document's pending render (false: there is none, or another
/// transaction finished it). Holds it until the transaction ends.
pub async fn take_pending(conn: &mut PgConnection, invoice: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "delete from billing.pending_renders where invoice_id = $1",
        invoice
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Renders left unfinished for longer than until `older_than`, of every
/// tenant (tenant, document).
pub async fn due(
    pool: &sqlx::PgPool,
    older_than: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<(Uuid, Uuid)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select tenant_id as "tenant_id!", invoice_id as "invoice_id!" from billing.renders_due($1)"#,
        older_than
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.tenant_id, r.invoice_id))
        .collect())
}
