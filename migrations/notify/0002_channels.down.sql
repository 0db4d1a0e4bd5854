drop function if exists notify.claim_messages(integer, interval), notify.next_message_due(),
    notify.held_recipients();
drop trigger if exists messages_wake on notify.messages;
drop function if exists notify.wake_mailer();
drop table if exists notify.message_attempts, notify.messages, notify.contacts,
    notify.users, notify.preferences, notify.rules, notify.channels;
