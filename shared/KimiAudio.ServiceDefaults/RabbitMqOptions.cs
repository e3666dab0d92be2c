using System.ComponentModel.DataAnnotations;

namespace KimiAudio.ServiceDefaults;

/// <summary>Broker connection. Bound from section "RabbitMq" (RABBITMQ_URI is mapped onto it).</summary>
public sealed class RabbitMqOptions
{
    public const string SectionName = "RabbitMq";

    /// <summary>amqp://user:password@host:port/vhost</summary>
    [Required, RegularExpression("^amqps?://.+", ErrorMessage = "RabbitMq:Uri must look like amqp://user:password@host:port/vhost")]
    public string Uri { get; set; } = "";
}
