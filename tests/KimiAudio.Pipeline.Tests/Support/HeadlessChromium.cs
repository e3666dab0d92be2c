using OpenQA.Selenium.Chrome;

namespace KimiAudio.Pipeline.Tests.Support;

/// <summary>
/// Debian's headless Chromium driven by Debian's chromedriver (same version, both from `infra/services.sh install`).
/// Both paths are given explicitly, so Selenium Manager never runs and nothing is fetched from the internet.
/// A missing browser or driver fails the test with what to install.
/// </summary>
public static class HeadlessChromium
{
    public const string BrowserPath = "/usr/bin/chromium";
    public const string DriverDirectory = "/usr/bin";
    public const string DriverName = "chromedriver";

    public static ChromeDriver Start()
    {
        foreach (var path in new[] { BrowserPath, Path.Combine(DriverDirectory, DriverName) })
        {
            if (!File.Exists(path))
                throw new InvalidOperationException(
                    $"{path} is missing: the browser tests need Debian's chromium and chromium-driver packages; run `infra/services.sh install` as root");
        }
        Environment.SetEnvironmentVariable("SE_OFFLINE", "true"); // belt and braces: Selenium Manager, if ever asked, stays offline
        var service = ChromeDriverService.CreateDefaultService(DriverDirectory, DriverName);
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        var options = new ChromeOptions { BinaryLocation = BrowserPath };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--mute-audio", "--no-first-run", "--window-size=1280,1000");
        var driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
        driver.Manage().Timeouts().PageLoad = TimeSpan.FromSeconds(30);
        driver.Manage().Timeouts().ImplicitWait = TimeSpan.FromSeconds(5); // elements of a page still loading after a click
        return driver;
    }
}
