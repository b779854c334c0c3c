"""What flows back after a send: bounces, complaints and emailed unsubscribes, read from the bounce mailbox
(or, later, a provider's webhook), turned into events and applied to the list."""
