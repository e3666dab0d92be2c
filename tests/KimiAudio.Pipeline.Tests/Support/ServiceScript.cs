using KimiAudio.Chaos;

namespace KimiAudio.Pipeline.Tests.Support;

/// <summary>The services the tests use, as the chaos soak takes them; and infra/services.sh run against them (e.g. to restart one).</summary>
public static class ServiceScript
{
    public static ChaosServices Services => new(
        ServiceSettings.RabbitMqUri, ServiceSettings.RabbitMqManagementUri, ServiceSettings.RabbitMqUser, ServiceSettings.RabbitMqPassword,
        ServiceSettings.PostgresConnection, ServiceSettings.S3ServiceUrl, ServiceSettings.S3AccessKey, ServiceSettings.S3SecretKey,
        ServiceSettings.S3Emulator, ServiceSettings.ServicesScript);

    public static Task RunAsync(params string[] args) => Services.RunScriptAsync(CancellationToken.None, args);
}
