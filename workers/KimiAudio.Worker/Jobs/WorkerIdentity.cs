using Microsoft.Extensions.Options;

namespace KimiAudio.Worker.Jobs;

/// <summary>This process's name in jobs.lease_owner.</summary>
public sealed class WorkerIdentity(IOptions<WorkerOptions> options)
{
    public string Id { get; } = options.Value.WorkerId is { Length: > 0 } id
        ? id
        : $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..6]}";
}
