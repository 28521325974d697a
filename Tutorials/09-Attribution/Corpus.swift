import Foundation
import Models

/// A short built-in corpus for the tutorial's SAE: sentences about countries, their capitals,
/// languages and cities, in several phrasings, and some ordinary prose — a few thousand tokens,
/// enough for the SAE to find features of the kind of text the prompt is.
enum TutorialCorpus {
    /// (country, capital, adjective, a second city).
    static let countries: [(String, String, String, String)] = [
        ("France", "Paris", "French", "Lyon"), ("Italy", "Rome", "Italian", "Milan"), ("Spain", "Madrid", "Spanish", "Barcelona"),
        ("Germany", "Berlin", "German", "Munich"), ("Portugal", "Lisbon", "Portuguese", "Porto"), ("Austria", "Vienna", "Austrian", "Salzburg"),
        ("Poland", "Warsaw", "Polish", "Krakow"), ("Greece", "Athens", "Greek", "Thessaloniki"), ("Sweden", "Stockholm", "Swedish", "Gothenburg"),
        ("Norway", "Oslo", "Norwegian", "Bergen"), ("Denmark", "Copenhagen", "Danish", "Aarhus"), ("Finland", "Helsinki", "Finnish", "Tampere"),
        ("Ireland", "Dublin", "Irish", "Cork"), ("Belgium", "Brussels", "Belgian", "Antwerp"), ("Hungary", "Budapest", "Hungarian", "Debrecen"),
        ("Egypt", "Cairo", "Egyptian", "Alexandria"), ("Japan", "Tokyo", "Japanese", "Osaka"), ("China", "Beijing", "Chinese", "Shanghai"),
        ("India", "New Delhi", "Indian", "Mumbai"), ("Russia", "Moscow", "Russian", "Saint Petersburg"), ("Canada", "Ottawa", "Canadian", "Toronto"),
        ("Mexico", "Mexico City", "Mexican", "Guadalajara"), ("Brazil", "Brasilia", "Brazilian", "Rio de Janeiro"),
        ("Argentina", "Buenos Aires", "Argentine", "Cordoba"), ("Peru", "Lima", "Peruvian", "Cusco"), ("Kenya", "Nairobi", "Kenyan", "Mombasa"),
        ("Turkey", "Ankara", "Turkish", "Istanbul"), ("Australia", "Canberra", "Australian", "Sydney"), ("Thailand", "Bangkok", "Thai", "Chiang Mai"),
        ("Vietnam", "Hanoi", "Vietnamese", "Ho Chi Minh City"), ("Morocco", "Rabat", "Moroccan", "Casablanca"), ("Chile", "Santiago", "Chilean", "Valparaiso"),
    ]

    static let prose = """
    Once upon a time there was a small village at the foot of a mountain. Every morning the baker opened his shop \
    before sunrise, and the smell of fresh bread filled the narrow streets. The children walked to school along the river, \
    counting the boats that passed. In the evening the old men played cards in the square while the sun went down behind the hills. \
    A good recipe needs patience: mix the flour with water, let the dough rest for an hour, then bake it until the crust is golden. \
    The train left the station at nine o'clock and arrived in the city just after noon. Scientists measured the temperature of the \
    ocean for many years and found that it was slowly rising. The library keeps thousands of books, maps and letters from the last \
    three centuries. She opened the window, looked at the rain and decided to stay at home and read. Music, art and food are the \
    things most visitors remember about a journey. The river flows from the mountains to the sea, through forests and farmland.
    """

    /// Tokens per window.
    static let windowLength = 32

    /// The corpus as consecutive windows of `windowLength` tokens (the tail that does not fill
    /// a window is dropped).
    static func windows(_ tokenizer: any Tokenizer) -> [[Int]] {
        let ids = tokenizer.encode(text, addSpecialTokens: false).ids
        return stride(from: 0, through: ids.count - windowLength, by: windowLength).map { Array(ids[$0..<($0 + windowLength)]) }
    }

    /// The corpus text: every country in several phrasings, then the prose.
    static var text: String {
        var lines: [String] = []
        for (country, capital, adjective, city) in countries {
            lines.append("The capital of \(country) is \(capital).")
            lines.append("\(capital) is the capital city of \(country), and many \(adjective) people live there.")
            lines.append("Q: What is the capital of \(country)? A: The capital of \(country) is \(capital).")
            lines.append("\(city) is a city in \(country), but it is not the capital. If you travel to \(country), visit \(capital) and \(city).")
        }
        return lines.joined(separator: "\n") + "\n" + prose
    }
}
