"""Helpers the cross-system tests share: waiting with deadlines, real worker processes, a
throwaway RabbitMQ vhost. Nothing here mocks a service."""
