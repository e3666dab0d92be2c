using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace KimiAudio.Pipeline.Tests.Support;

/// <summary>Runs infra/services.sh against the services the tests use (its ports taken from the test settings), e.g. to restart one.</summary>
public static class ServiceScript
{
    public static async Task RunAsync(params string[] args)
    {
        var info = new ProcessStartInfo(ServiceSettings.ServicesScript) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        var inv = CultureInfo.InvariantCulture;
        info.Environment["KIMIA_RABBITMQ_PORT"] = new Uri(ServiceSettings.RabbitMqUri).Port.ToString(inv);
        info.Environment["KIMIA_RABBITMQ_MANAGEMENT_PORT"] = new Uri(ServiceSettings.RabbitMqManagementUri).Port.ToString(inv);
        info.Environment["KIMIA_POSTGRES_PORT"] = new NpgsqlConnectionStringBuilder(ServiceSettings.PostgresConnection).Port.ToString(inv);
        info.Environment["KIMIA_S3_PORT"] = new Uri(ServiceSettings.S3ServiceUrl).Port.ToString(inv);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromMinutes(3)).Token);
        Assert.True(process.ExitCode == 0, $"services.sh {string.Join(' ', args)} failed: {await stdout}{await stderr}");
    }
}
