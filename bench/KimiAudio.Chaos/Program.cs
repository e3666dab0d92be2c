using System.Globalization;
using KimiAudio.Chaos;

// dotnet run -c Release --project bench/KimiAudio.Chaos -- [--seed N] [--profile full|short] [--files N] [--chat N] [--worker-kills N]
// Needs the local services of this checkout (infra/services.sh start; source .run/services.env): it restarts RabbitMQ and
// PostgreSQL of exactly those services. Exit code 0 only when the history check passes.
var seed = 1;
var profileName = "full";
int? files = null, chat = null, kills = null;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    var value = args[i + 1];
    switch (args[i])
    {
        case "--seed": seed = int.Parse(value, CultureInfo.InvariantCulture); break;
        case "--profile": profileName = value; break;
        case "--files": files = int.Parse(value, CultureInfo.InvariantCulture); break;
        case "--chat": chat = int.Parse(value, CultureInfo.InvariantCulture); break;
        case "--worker-kills": kills = int.Parse(value, CultureInfo.InvariantCulture); break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
}
var profile = profileName switch
{
    "full" => ChaosProfile.Full(seed),
    "short" => ChaosProfile.Short(seed),
    _ => throw new ArgumentException($"--profile {profileName}: full or short"),
};
profile = profile with
{
    Files = files ?? profile.Files, ChatFiles = chat ?? profile.ChatFiles, WorkerKills = kills ?? profile.WorkerKills,
};

var report = await new ChaosSoak(profile, ChaosServices.FromEnvironment(), Console.Out).RunAsync(CancellationToken.None);
Console.WriteLine();
Console.WriteLine($"chaos soak, seed {profile.Seed}, profile {profileName}: {profile.Files} files ({profile.ChatFiles} chat), " +
                  $"{profile.Workers} workers, S3 fault rate {profile.S3FaultRate:P0}; replay with --seed {profile.Seed} --profile {profileName}");
Console.WriteLine(report.ToTable());
return report.Passed ? 0 : 1;
